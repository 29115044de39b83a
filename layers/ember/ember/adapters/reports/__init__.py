"""Burn report formats (JSON, CSV, HTML with SVG charts, PDF) and where they are kept (S3 or
a local directory). jinja2 and WeasyPrint load only when a page is rendered."""
