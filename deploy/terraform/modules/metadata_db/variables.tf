variable "name" {
  description = "Name of the deployment; names and tags every resource."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,30}$", var.name))
    error_message = "name must start with a letter and hold at most 31 letters, digits or dashes."
  }
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (two zones or more) for the DB subnet group."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids needs at least two subnets, in different zones."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups (the Flipbook tasks') allowed to connect on 5432."
  type        = list(string)
}

variable "engine_version" {
  description = "PostgreSQL version (major, or major.minor)."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^1[4-9](\\.[0-9]+)?$", var.engine_version))
    error_message = "engine_version must be PostgreSQL 14 or newer, such as 16 or 16.4."
  }
}

variable "instance_class" {
  description = "Instance size; see docs/operations/sizing.md."
  type        = string
  default     = "db.t4g.medium"

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "instance_class must be an RDS instance class (db.*)."
  }
}

variable "database_name" {
  description = "Name of the database Flipbook uses."
  type        = string
  default     = "flipbook"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be a lower-case PostgreSQL identifier."
  }
}

variable "username" {
  description = "Master user Flipbook connects as (its password is generated)."
  type        = string
  default     = "flipbook"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.username)) && !contains(["postgres", "admin", "rdsadmin"], var.username)
    error_message = "username must be a lower-case identifier other than postgres, admin or rdsadmin."
  }
}

variable "allocated_storage_gb" {
  description = "Initial storage in GiB."
  type        = number
  default     = 50

  validation {
    condition     = var.allocated_storage_gb >= 20 && var.allocated_storage_gb <= 65536
    error_message = "allocated_storage_gb must be from 20 to 65536."
  }
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling in GiB (at least allocated_storage_gb)."
  type        = number
  default     = 500

  validation {
    condition     = var.max_allocated_storage_gb >= 20 && var.max_allocated_storage_gb <= 65536
    error_message = "max_allocated_storage_gb must be from 20 to 65536."
  }
}

variable "multi_az" {
  description = "A synchronous standby in another zone (failover in one to two minutes)."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days of automated backups and point-in-time restore."
  type        = number
  default     = 14

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be from 1 to 35."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the instance."
  type        = bool
  default     = true
}

variable "log_min_duration_ms" {
  description = "Log statements slower than this many milliseconds (-1: off)."
  type        = number
  default     = 500

  validation {
    condition     = var.log_min_duration_ms >= -1
    error_message = "log_min_duration_ms must be -1 (off) or a duration in milliseconds."
  }
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights and the URL secret."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
