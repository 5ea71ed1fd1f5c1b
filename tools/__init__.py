"""Audits of the suite itself: sensitivity (tools.mutation_audit, broken torch backends in
tools.mutants) and false alarms (tools.false_alarm_audit). See docs/audit.md."""
