"""Study tables registered with dlik tables (filled in by the study modules)."""
