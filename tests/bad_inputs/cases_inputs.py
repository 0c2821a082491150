"""Bad-input cases: the inputs of every reader (FASTA, tables, text), through `findna embed`."""

from __future__ import annotations

from bad_input_kit import (
    GZ_TABLE,
    Case,
    csv_text,
    embed_argv,
    fasta_text,
    random_seq,
    task_folder,
    unreadable,
    write_files,
)

INPUT_CASES = [
    # Inputs of every reader (FASTA, tables, text), through `findna embed`.
    Case(
        "input does not exist",
        write_files(),
        embed_argv("missing.fa"),
        r"missing\.fa does not exist",
    ),
    Case(
        "folder given as input file",
        write_files(**{"d.fa__x.fa": fasta_text(["a"])}),
        embed_argv("d.fa"),
        r"d\.fa is a folder; give a file",
    ),  # fmt: skip
    Case(
        "unknown input suffix",
        write_files(**{"reads.bam": "x"}),
        embed_argv("reads.bam"),
        r"unknown input type '\.bam'",
    ),  # fmt: skip
    Case(
        "empty FASTA", write_files(**{"e.fa": ""}), embed_argv("e.fa"), r"e\.fa: empty FASTA file"
    ),
    Case(
        "FASTA record without sequence",
        write_files(**{"a.fa": ">a\n>b\nACGT\n"}),
        embed_argv("a.fa"),
        r"a\.fa, line 1: record 'a' has no sequence",
    ),  # fmt: skip
    Case(
        "FASTA duplicate record name",
        write_files(**{"a.fa": fasta_text(["r", "r"])}),
        embed_argv("a.fa"),
        r"a\.fa, line 3: duplicate record name 'r'",
    ),  # fmt: skip
    Case(
        "FASTA sequence before header",
        write_files(**{"a.fa": "ACGT\n>a\nACGT\n"}),
        embed_argv("a.fa"),
        r"a\.fa, line 1: sequence before the first header",
    ),  # fmt: skip
    Case(
        "FASTA invalid character",
        write_files(**{"a.fa": ">a\nACGTJ\n"}),
        embed_argv("a.fa"),
        r"record 'a'.*invalid character 'J'.*--on-invalid n",
    ),  # fmt: skip
    Case(
        "binary file named .fa",
        write_files(**{"a.fa": b"\x00\x01\x02>"}),
        embed_argv("a.fa"),
        r"a\.fa, line 1: byte 0x00 is not text",
    ),  # fmt: skip
    Case(
        "FASTA with a UTF-8 BOM (accepted)",
        write_files(**{"a.fa": "\ufeff" + fasta_text(["r0", "r1"])}),
        embed_argv("a.fa"),
        "",
        code=0,
    ),
    Case(
        "FASTA with CR-only line ends (accepted)",
        write_files(**{"a.fa": fasta_text(["r0", "r1"], "\r")}),
        embed_argv("a.fa"),
        "",
        code=0,
    ),
    Case(
        "table row with an extra field",
        write_files(**{"t.csv": csv_text([f"{random_seq()},0,x", f"{random_seq()},1,y"])}),
        embed_argv("t.csv"),
        r"t\.csv: the data rows have more fields than the header",
    ),  # fmt: skip
    Case(
        "trailing delimiter on every data row",
        write_files(**{"t.csv": csv_text([f"{random_seq()},0,", f"{random_seq()},1,"])}),
        embed_argv("t.csv"),
        r"t\.csv: .*more fields than the header.*trailing delimiters",
    ),  # fmt: skip
    Case(
        "mixed delimiters",
        write_files(**{"t.csv": csv_text([f"{random_seq()},0", f"{random_seq()}\t1"])}),
        embed_argv("t.csv"),
        r"t\.csv, data row 2 .*holds a tab.*mix delimiters",
    ),  # fmt: skip
    Case(
        "a tab inside a comma-separated row",
        write_files(
            **{"t.csv": csv_text([f"x1,{random_seq()}", f"x2\t{random_seq()}"], "id,sequence")}
        ),
        embed_argv("t.csv"),
        r"t\.csv, data row 2 .*the row holds a tab but the file is comma-separated.*'id' field "
        r"holds a tab, and its 'sequence' field is empty",
    ),
    Case(
        "unreadable input (mode 000)",
        write_files(**{"a.fa": fasta_text(["r"])}),
        embed_argv("a.fa"),
        r"cannot read \S*a\.fa: permission denied\. Make it readable .*chmod a\+r",
        fault=unreadable("a.fa"),
    ),
    Case(
        "table without sequence column",
        write_files(**{"t.csv": csv_text(["ACGT,0"], "dna,label")}),
        embed_argv("t.csv"),
        r"t\.csv: no sequence column",
    ),  # fmt: skip
    Case(
        "empty sequence in a table",
        write_files(**{"t.csv": csv_text([f"{random_seq()},0", ",1"])}),
        embed_argv("t.csv"),
        r"t\.csv, data row 2 .*empty sequence",
    ),  # fmt: skip
    Case(
        "duplicate ids in a table",
        write_files(
            **{
                "t.csv": csv_text(
                    [f"a,{random_seq()}", f"b,{random_seq()}", f"a,{random_seq()}"], "id,sequence"
                )
            }
        ),
        embed_argv("t.csv"),
        r"t\.csv, data row 3 .*id 'a' repeats data row 1",
    ),  # fmt: skip
    Case(
        "truncated .csv.gz",
        write_files(**{"t.csv.gz": GZ_TABLE[: len(GZ_TABLE) // 2]}),
        embed_argv("t.csv.gz"),
        r"t\.csv\.gz: the gzip stream ends early",
    ),  # fmt: skip
    Case(
        ".csv.gz that is not gzip",
        write_files(**{"t.csv.gz": csv_text([f"{random_seq()},0"])}),
        embed_argv("t.csv.gz"),
        r"t\.csv\.gz: named \.gz but not gzip-compressed",
    ),  # fmt: skip
    Case(
        "gzip table named .csv",
        write_files(**{"t.csv": GZ_TABLE}),
        embed_argv("t.csv"),
        r"t\.csv: gzip-compressed, but its name does not end in \.gz\. Rename it to t\.csv\.gz",
    ),
    Case(
        "table not UTF-8",
        write_files(**{"t.csv": csv_text([f"{random_seq()},\xb5"]).encode("latin-1")}),
        embed_argv("t.csv"),
        r"t\.csv: not UTF-8 text \(byte 0xb5 .*iconv -f latin1",
    ),
    Case(
        "table in UTF-16",
        write_files(**{"t.csv": csv_text([f"{random_seq()},0"]).encode("utf-16")}),
        embed_argv("t.csv"),
        r"t\.csv: UTF-16 text \(Excel's 'Unicode Text'\?\)\. .*iconv -f utf-16",
    ),
    Case(
        "BED with a UCSC track line",
        write_files(
            **{
                "ref.fa": fasta_text(["chr1"]),
                "r.bed": "track name=peaks\nchr1\t0\t10\tr0\t0\t+\ttrain\t1\n",
            }
        ),
        lambda root: ["data", "info", str(root / "r.bed"), "--reference", str(root / "ref.fa")],
        r"r\.bed, line 1: a UCSC 'track' line .*grep -v -e '\^track' -e '\^browser'",
    ),
    Case(
        "one label number written two ways",
        task_folder({"train": [(random_seq(), "1.0")]}),
        lambda root: ["data", "info", str(root / "task")],
        r"train\.csv, data row 41 .*label '1\.0' is label '1' of data row 2 .*written another "
        r"way.*Write each class one way",
    ),
    Case(
        "multi-label column on every training row",
        write_files(
            **{"t.csv": csv_text([f"{random_seq()},1,{i % 2}" for i in range(40)], "sequence,A,B")}
        ),
        lambda root: [
            "data",
            "info",
            str(root / "t.csv"),
            "--task-type",
            "multilabel",
            "--target-columns",
            "A,B",
        ],
        r"t\.csv \(all rows\): the label\(s\) \['A'\] are on every one of the 40 training "
        r"rows.*drop it from --target-columns",
    ),
]
