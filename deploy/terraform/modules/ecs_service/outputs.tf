output "cluster_name" {
  description = "The ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "server_service_name" {
  description = "The servers' ECS service."
  value       = aws_ecs_service.server.name
}

output "push_service_name" {
  description = "The push workers' ECS service."
  value       = aws_ecs_service.push.name
}

output "server_task_definition_arn" {
  description = "The server task definition; run it with command [\"migrate\"] before a new version's services (docs/operations/upgrades.md)."
  value       = aws_ecs_task_definition.server.arn
}

output "load_balancer_dns_name" {
  description = "DNS name of the load balancer: point the deployment's host name at it."
  value       = aws_lb.this.dns_name
}

output "load_balancer_zone_id" {
  description = "Hosted zone of the load balancer, for a Route 53 alias."
  value       = aws_lb.this.zone_id
}

output "tasks_security_group_id" {
  description = "Security group of the tasks: allow it into PostgreSQL and Redis."
  value       = aws_security_group.tasks.id
}

output "task_role_arn" {
  description = "The task role (what Flipbook calls AWS as)."
  value       = aws_iam_role.task.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the servers and push workers."
  value       = aws_cloudwatch_log_group.this.name
}
