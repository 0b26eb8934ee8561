"""Report templates, shipped inside the package as provenance._reports."""
