# Redis for Flipbook's event bus (pub/sub between servers), Redis snapshots and readiness:
# TLS in transit, an AUTH token, encryption at rest, automatic failover across zones. The
# connection URL (FLIPBOOK_REDIS_URL, with the token) is kept in Secrets Manager.

locals {
  port   = 6379
  family = "redis${split(".", var.engine_version)[0]}"
}

resource "aws_elasticache_subnet_group" "this" {
  name       = "${var.name}-redis"
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-redis-"
  description = "Redis of ${var.name}: reachable from the Flipbook tasks only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-redis" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "clients" {
  for_each                     = toset(var.allowed_security_group_ids)
  security_group_id            = aws_security_group.this.id
  description                  = "Redis from a Flipbook security group"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
}

resource "aws_elasticache_parameter_group" "this" {
  name   = "${var.name}-redis"
  family = local.family

  parameter {
    name  = "cluster-enabled"
    value = var.cluster_mode ? "yes" : "no"
  }

  tags = var.tags
}

resource "random_password" "auth_token" {
  length  = 64
  special = false # ElastiCache allows only some symbols; 64 alphanumerics are plenty
}

resource "aws_cloudwatch_log_group" "slow_log" {
  name              = "/elasticache/${var.name}/slow-log"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id = "${var.name}-redis"
  description          = "Flipbook ${var.name}: event bus and snapshots"
  engine               = "redis"
  engine_version       = var.engine_version
  node_type            = var.node_type
  port                 = local.port
  parameter_group_name = aws_elasticache_parameter_group.this.name
  subnet_group_name    = aws_elasticache_subnet_group.this.name
  security_group_ids   = [aws_security_group.this.id]

  # Cluster mode sizes node groups; otherwise one primary plus its replicas.
  num_node_groups         = var.cluster_mode ? var.shards : null
  replicas_per_node_group = var.cluster_mode ? var.replicas_per_shard : null
  num_cache_clusters      = var.cluster_mode ? null : var.replicas_per_shard + 1

  automatic_failover_enabled = true
  multi_az_enabled           = true

  transit_encryption_enabled = true
  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  auth_token                 = random_password.auth_token.result
  auth_token_update_strategy = "ROTATE"

  snapshot_retention_limit   = var.snapshot_retention_days
  auto_minor_version_upgrade = true
  apply_immediately          = false

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.slow_log.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }

  tags = var.tags
}

locals {
  endpoint = var.cluster_mode ? aws_elasticache_replication_group.this.configuration_endpoint_address : aws_elasticache_replication_group.this.primary_endpoint_address
  # rediss:// is TLS; the token is the password of the default user.
  url = "rediss://:${random_password.auth_token.result}@${local.endpoint}:${local.port}/0${var.cluster_mode ? "?cluster=true" : ""}"
}

resource "aws_secretsmanager_secret" "url" {
  #checkov:skip=CKV2_AWS_57:the URL embeds the AUTH token; rotate both together with auth_token_update_strategy ROTATE (docs/operations/aws.md), not a Lambda that cannot change the token
  name_prefix = "${var.name}/FLIPBOOK_REDIS_URL-"
  description = "FLIPBOOK_REDIS_URL of ${var.name}: Redis over TLS with its AUTH token"
  kms_key_id  = var.kms_key_arn
  tags        = var.tags
}

resource "aws_secretsmanager_secret_version" "url" {
  secret_id     = aws_secretsmanager_secret.url.id
  secret_string = local.url
}
