"""Operating a deployment: schema migrations, backup and restore, verification, health, metrics and logs."""
