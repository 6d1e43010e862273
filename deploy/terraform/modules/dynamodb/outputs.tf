output "table_name" {
  description = "The table's name: <table_prefix>events."
  value       = aws_dynamodb_table.events.name
}

output "table_arn" {
  description = "The table's ARN."
  value       = aws_dynamodb_table.events.arn
}

output "table_prefix" {
  description = "FLIPBOOK_DYNAMODB_TABLE_PREFIX for the servers."
  value       = var.table_prefix
}

output "access_policy_arn" {
  description = "IAM policy with exactly the table access a Flipbook process needs; attach it to the task role."
  value       = aws_iam_policy.access.arn
}

output "access_policy_json" {
  description = "The same policy as JSON, for roles managed elsewhere (EKS IRSA, for example)."
  value       = data.aws_iam_policy_document.access.json
}
