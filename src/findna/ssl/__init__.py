"""Self-distillation: views, masking, losses, the student/teacher pair and its schedules."""
