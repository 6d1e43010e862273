output "endpoint" {
  description = "Primary endpoint (configuration endpoint in cluster mode)."
  value       = local.endpoint
}

output "port" {
  description = "Redis port."
  value       = local.port
}

output "security_group_id" {
  description = "The replication group's security group."
  value       = aws_security_group.this.id
}

output "url_secret_arn" {
  description = "Secrets Manager secret holding FLIPBOOK_REDIS_URL (rediss://, with the AUTH token)."
  value       = aws_secretsmanager_secret.url.arn
}
