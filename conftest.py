"""Make the project's packages (core, studies, pages) importable from tests run at the root."""
