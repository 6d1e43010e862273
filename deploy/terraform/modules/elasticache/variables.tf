variable "name" {
  description = "Name of the deployment; names and tags every resource."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,30}$", var.name))
    error_message = "name must start with a letter and hold at most 31 letters, digits or dashes."
  }
}

variable "vpc_id" {
  description = "VPC of the replication group."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (two zones or more) for the nodes."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids needs at least two subnets, in different zones."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups (the Flipbook tasks') allowed to connect on 6379."
  type        = list(string)
}

variable "engine_version" {
  description = "Redis engine version (major.minor)."
  type        = string
  default     = "7.1"

  validation {
    condition     = can(regex("^[67]\\.[0-9]+$", var.engine_version))
    error_message = "engine_version must be a Redis 6.x or 7.x version such as 7.1."
  }
}

variable "node_type" {
  description = "Node size; see docs/operations/sizing.md."
  type        = string
  default     = "cache.t4g.small"

  validation {
    condition     = startswith(var.node_type, "cache.")
    error_message = "node_type must be an ElastiCache node type (cache.*)."
  }
}

variable "cluster_mode" {
  description = "Redis Cluster (sharded). Off by default: one primary carries Flipbook's pub/sub bus; turn on only after reading docs/operations/scale-out.md."
  type        = bool
  default     = false
}

variable "shards" {
  description = "Shards (node groups) when cluster_mode is on."
  type        = number
  default     = 2

  validation {
    condition     = var.shards >= 1 && var.shards <= 500
    error_message = "shards must be from 1 to 500."
  }
}

variable "replicas_per_shard" {
  description = "Replicas of each primary, in other zones (automatic failover and Multi-AZ are always on)."
  type        = number
  default     = 1

  validation {
    condition     = var.replicas_per_shard >= 1 && var.replicas_per_shard <= 5
    error_message = "replicas_per_shard must be from 1 to 5 (a replica is what fails over)."
  }
}

variable "snapshot_retention_days" {
  description = "Days of daily Redis backups (snapshots live here only when FLIPBOOK_SNAPSHOT_STORE=redis; they can be rebuilt from events)."
  type        = number
  default     = 7

  validation {
    condition     = var.snapshot_retention_days >= 1 && var.snapshot_retention_days <= 35
    error_message = "snapshot_retention_days must be from 1 to 35."
  }
}

variable "kms_key_arn" {
  description = "KMS key for data at rest, the slow log and the URL secret."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "log_retention_days" {
  description = "Days to keep the slow log."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' retention periods."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
