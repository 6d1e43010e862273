# The event store's table exactly as streams.backends.dynamodb.table_definition() creates it
# (tests/deploy/test_terraform.py compares the two), plus what production adds: point-in-time
# recovery, encryption with a customer-managed key, deletion protection.

locals {
  table_name = "${var.table_prefix}events"
}

resource "aws_dynamodb_table" "events" {
  name                        = local.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "N"
  }

  attribute {
    name = "ts"
    type = "S"
  }

  attribute {
    name = "lp"
    type = "S"
  }

  attribute {
    name = "cp"
    type = "S"
  }

  attribute {
    name = "sid"
    type = "S"
  }

  local_secondary_index {
    name            = "by_time"
    range_key       = "ts"
    projection_type = "KEYS_ONLY"
  }

  global_secondary_index {
    name            = "by_stream_id"
    hash_key        = "lp"
    range_key       = "sid"
    projection_type = "KEYS_ONLY"
  }

  global_secondary_index {
    name            = "by_category"
    hash_key        = "cp"
    range_key       = "sid"
    projection_type = "KEYS_ONLY"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = merge(var.tags, { Name = local.table_name })
}

# What a Flipbook server does with the table, and nothing more: consistent reads (GetItem,
# BatchGetItem, Query on the table and its indexes), the items of its TransactWriteItems
# (Put and Update) and fence UpdateItem, and scavenging (Scan for candidates, BatchWriteItem
# to remove what expired). Creating or deleting the table is Terraform's job.
data "aws_iam_policy_document" "access" {
  statement {
    sid    = "FlipbookEventStore"
    effect = "Allow"
    actions = [
      "dynamodb:BatchGetItem",
      "dynamodb:BatchWriteItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:Scan",
      "dynamodb:UpdateItem",
    ]
    resources = [
      aws_dynamodb_table.events.arn,
      "${aws_dynamodb_table.events.arn}/index/*",
    ]
  }

  statement {
    sid       = "FlipbookEventStoreKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_policy" "access" {
  name        = "${var.name}-dynamodb-events"
  description = "Flipbook servers and push workers: the event store table ${local.table_name}."
  policy      = data.aws_iam_policy_document.access.json
  tags        = var.tags
}
