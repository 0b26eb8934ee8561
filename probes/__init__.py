"""Probe suite data (versioned TOML files), shipped inside the package as provenance._probes."""
