# Flipbook in production on AWS: a VPC, DynamoDB for events, RDS PostgreSQL for metadata,
# ElastiCache Redis for the bus, ECS Fargate servers behind an ALB and the push worker, one
# KMS key for everything at rest and the secrets in Secrets Manager.
# Walkthrough: docs/operations/aws.md.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

# -- one customer-managed key for logs, secrets, DynamoDB, RDS and ElastiCache ---------------

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_111:a key policy's "*" resource means this key only; the account root administers it (AWS's default key policy)
  #checkov:skip=CKV_AWS_356:same: in a key policy "*" is the key itself
  #checkov:skip=CKV_AWS_109:same: the account root must keep kms:PutKeyPolicy or the key becomes unmanageable
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy, "*" is this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncrypt"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${var.region}:${data.aws_caller_identity.current.account_id}:*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "Flipbook ${var.name}: data at rest, logs and secrets"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

# -- the one secret key every process shares --------------------------------------------------

resource "random_password" "secret_key" {
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "secret_key" {
  #checkov:skip=CKV2_AWS_57:rotating the Django secret key logs every console user out; rotate by hand (docs/operations/aws.md)
  name_prefix = "${var.name}/FLIPBOOK_SECRET_KEY-"
  description = "FLIPBOOK_SECRET_KEY of ${var.name}"
  kms_key_id  = aws_kms_key.this.arn
}

resource "aws_secretsmanager_secret_version" "secret_key" {
  secret_id     = aws_secretsmanager_secret.secret_key.id
  secret_string = random_password.secret_key.result
}

# -- the modules ------------------------------------------------------------------------------

module "network" {
  source = "../../modules/network"

  name               = var.name
  cidr_block         = var.vpc_cidr_block
  az_count           = var.az_count
  single_nat_gateway = var.single_nat_gateway
  kms_key_arn        = aws_kms_key.this.arn
}

module "dynamodb" {
  source = "../../modules/dynamodb"

  name         = var.name
  table_prefix = var.dynamodb_table_prefix
  kms_key_arn  = aws_kms_key.this.arn
}

module "metadata_db" {
  source = "../../modules/metadata_db"

  name                       = var.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = [module.app.tasks_security_group_id]
  instance_class             = var.db_instance_class
  kms_key_arn                = aws_kms_key.this.arn
}

module "redis" {
  source = "../../modules/elasticache"

  name                       = var.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  allowed_security_group_ids = [module.app.tasks_security_group_id]
  node_type                  = var.redis_node_type
  kms_key_arn                = aws_kms_key.this.arn
}

module "app" {
  source = "../../modules/ecs_service"

  name               = var.name
  image              = var.image
  vpc_id             = module.network.vpc_id
  vpc_cidr_block     = module.network.vpc_cidr_block
  public_subnet_ids  = module.network.public_subnet_ids
  private_subnet_ids = module.network.private_subnet_ids
  certificate_arn    = var.certificate_arn
  access_logs_bucket = var.access_logs_bucket
  allowed_hosts      = var.allowed_hosts

  dynamodb_table_prefix   = module.dynamodb.table_prefix
  bus_prefix              = var.name
  secret_key_secret_arn   = aws_secretsmanager_secret.secret_key.arn
  database_url_secret_arn = module.metadata_db.url_secret_arn
  redis_url_secret_arn    = module.redis.url_secret_arn
  task_policy_arns        = [module.dynamodb.access_policy_arn]

  min_capacity = var.min_servers
  max_capacity = var.max_servers
  push_workers = var.push_workers
  kms_key_arn  = aws_kms_key.this.arn
}
