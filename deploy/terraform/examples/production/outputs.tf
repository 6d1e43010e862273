output "load_balancer_dns_name" {
  description = "Point the allowed_hosts' DNS records at this name."
  value       = module.app.load_balancer_dns_name
}

output "cluster_name" {
  description = "ECS cluster, for `aws ecs run-task` (migrations, API keys)."
  value       = module.app.cluster_name
}

output "server_task_definition_arn" {
  description = "Server task definition, for one-off commands."
  value       = module.app.server_task_definition_arn
}

output "private_subnet_ids" {
  description = "Subnets for one-off tasks."
  value       = module.network.private_subnet_ids
}

output "tasks_security_group_id" {
  description = "Security group for one-off tasks."
  value       = module.app.tasks_security_group_id
}

output "dynamodb_table_name" {
  description = "The event store table."
  value       = module.dynamodb.table_name
}

output "metadata_db_address" {
  description = "PostgreSQL host name."
  value       = module.metadata_db.address
}

output "redis_endpoint" {
  description = "Redis endpoint."
  value       = module.redis.endpoint
}
