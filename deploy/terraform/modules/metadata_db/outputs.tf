output "address" {
  description = "The instance's DNS name."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "PostgreSQL port."
  value       = local.port
}

output "security_group_id" {
  description = "The database's security group."
  value       = aws_security_group.this.id
}

output "url_secret_arn" {
  description = "Secrets Manager secret holding FLIPBOOK_DATABASE_URL (TLS required; see the README to verify the RDS CA)."
  value       = aws_secretsmanager_secret.url.arn
}
