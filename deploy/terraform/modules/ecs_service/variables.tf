variable "name" {
  description = "Name of the deployment: the ECS cluster, the load balancer, log group and roles. At most 28 characters (load balancer names are limited to 32)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,27}$", var.name))
    error_message = "name must start with a letter and hold at most 28 letters, digits or dashes."
  }
}

variable "image" {
  description = "The Flipbook image, pinned by tag or digest (ghcr.io/OWNER/flipbook:1.2.3, or an ECR copy)."
  type        = string

  validation {
    condition     = length(var.image) > 0 && !endswith(var.image, ":latest")
    error_message = "image must name a fixed tag or digest, not :latest (rollbacks need a fixed one)."
  }
}

variable "vpc_id" {
  description = "VPC of the load balancer and tasks."
  type        = string
}

variable "vpc_cidr_block" {
  description = "The VPC's IPv4 range: tasks may reach PostgreSQL (5432) and Redis (6379) inside it."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr_block, 0))
    error_message = "vpc_cidr_block must be an IPv4 CIDR."
  }
}

variable "public_subnet_ids" {
  description = "Subnets of the load balancer (public ones, or private ones when internal is true); two zones or more."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "public_subnet_ids needs at least two subnets, in different zones."
  }
}

variable "private_subnet_ids" {
  description = "Subnets of the tasks (private, with a NAT gateway or VPC endpoints for AWS APIs)."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 1
    error_message = "private_subnet_ids needs at least one subnet."
  }
}

variable "internal" {
  description = "An internal load balancer (reachable inside the VPC only)."
  type        = bool
  default     = false
}

variable "allowed_cidr_blocks" {
  description = "IPv4 ranges allowed to reach the load balancer on 443 (and 80, which redirects)."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.allowed_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "allowed_cidr_blocks must hold IPv4 CIDRs."
  }
}

variable "certificate_arn" {
  description = "ACM certificate of the HTTPS listener (gRPC on an ALB needs HTTPS)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "idle_timeout_seconds" {
  description = "Seconds the load balancer keeps an idle connection: WebSockets, long-polls and gRPC Subscribe streams are cut after this much silence."
  type        = number
  default     = 3600

  validation {
    condition     = var.idle_timeout_seconds >= 60 && var.idle_timeout_seconds <= 4000
    error_message = "idle_timeout_seconds must be from 60 to 4000 (the ALB's maximum)."
  }
}

variable "deregistration_delay_seconds" {
  description = "Seconds a stopping task keeps getting in-flight traffic drained; above shutdown_grace_seconds."
  type        = number
  default     = 30

  validation {
    condition     = var.deregistration_delay_seconds >= 0 && var.deregistration_delay_seconds <= 3600
    error_message = "deregistration_delay_seconds must be from 0 to 3600."
  }
}

variable "shutdown_grace_seconds" {
  description = "`serve --grace`: seconds in-flight requests get after SIGTERM (ECS waits 30 s before SIGKILL)."
  type        = number
  default     = 20

  validation {
    condition     = var.shutdown_grace_seconds >= 1 && var.shutdown_grace_seconds <= 25
    error_message = "shutdown_grace_seconds must be from 1 to 25 (below the container's 30 s stop timeout)."
  }
}

variable "access_logs_bucket" {
  description = "Existing S3 bucket (with the ELB log delivery policy) for the load balancer's access logs."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_logs_bucket))
    error_message = "access_logs_bucket must be an S3 bucket name."
  }
}

variable "waf_web_acl_arn" {
  description = "WAFv2 web ACL to associate with the load balancer (null: none)."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Refuse to delete the load balancer."
  type        = bool
  default     = true
}

variable "cpu_architecture" {
  description = "Task CPU architecture; the image must be built for it (image.yml builds amd64 and arm64)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "server_cpu" {
  description = "CPU units of a server task (1024 = one vCPU)."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.server_cpu)
    error_message = "server_cpu must be a Fargate size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "server_memory" {
  description = "Memory (MiB) of a server task; must fit server_cpu's Fargate range."
  type        = number
  default     = 2048

  validation {
    condition     = var.server_memory >= 512 && var.server_memory <= 122880
    error_message = "server_memory must be from 512 to 122880 MiB."
  }
}

variable "push_cpu" {
  description = "CPU units of a push worker task."
  type        = number
  default     = 256

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.push_cpu)
    error_message = "push_cpu must be 256, 512, 1024, 2048 or 4096."
  }
}

variable "push_memory" {
  description = "Memory (MiB) of a push worker task."
  type        = number
  default     = 512

  validation {
    condition     = var.push_memory >= 512 && var.push_memory <= 30720
    error_message = "push_memory must be from 512 to 30720 MiB."
  }
}

variable "push_workers" {
  description = "Push worker tasks (`flipbook subscriptions`); each subscription is leased by one at a time, so more add throughput and failover."
  type        = number
  default     = 1

  validation {
    condition     = var.push_workers >= 0 && var.push_workers <= 20
    error_message = "push_workers must be from 0 to 20."
  }
}

variable "min_capacity" {
  description = "Fewest server tasks (two or more for availability)."
  type        = number
  default     = 2

  validation {
    condition     = var.min_capacity >= 1
    error_message = "min_capacity must be 1 or more."
  }
}

variable "max_capacity" {
  description = "Most server tasks autoscaling may run."
  type        = number
  default     = 10

  validation {
    condition     = var.max_capacity >= 1 && var.max_capacity <= 1000
    error_message = "max_capacity must be from 1 to 1000."
  }
}

variable "cpu_target_percent" {
  description = "Average CPU utilisation autoscaling holds the servers at."
  type        = number
  default     = 60

  validation {
    condition     = var.cpu_target_percent >= 10 && var.cpu_target_percent <= 90
    error_message = "cpu_target_percent must be from 10 to 90."
  }
}

variable "requests_per_target" {
  description = "ALB requests per server task (per minute) autoscaling holds; see docs/operations/sizing.md."
  type        = number
  default     = 6000

  validation {
    condition     = var.requests_per_target >= 1
    error_message = "requests_per_target must be positive."
  }
}

variable "dynamodb_table_prefix" {
  description = "FLIPBOOK_DYNAMODB_TABLE_PREFIX (the dynamodb module's table_prefix output)."
  type        = string
}

variable "bus_prefix" {
  description = "FLIPBOOK_BUS_PREFIX: unique per deployment sharing a Redis, or their event buses mix."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.:-]{1,64}$", var.bus_prefix))
    error_message = "bus_prefix must be 1 to 64 letters, digits or _ . : -."
  }
}

variable "allowed_hosts" {
  description = "FLIPBOOK_ALLOWED_HOSTS: host names the servers answer to (the load balancer's DNS name is always added by the caller)."
  type        = list(string)

  validation {
    condition     = length(var.allowed_hosts) > 0
    error_message = "allowed_hosts must name at least one host."
  }
}

variable "secret_key_secret_arn" {
  description = "Secrets Manager secret holding FLIPBOOK_SECRET_KEY (one for every process of the deployment)."
  type        = string
}

variable "database_url_secret_arn" {
  description = "Secrets Manager secret holding FLIPBOOK_DATABASE_URL (the metadata_db module's url_secret_arn)."
  type        = string
}

variable "redis_url_secret_arn" {
  description = "Secrets Manager secret holding FLIPBOOK_REDIS_URL (the elasticache module's url_secret_arn)."
  type        = string
}

variable "environment" {
  description = "More FLIPBOOK_* settings (README, \"Configuration\"); they override the module's."
  type        = map(string)
  default     = {}
}

variable "task_policy_arns" {
  description = "IAM policies for the task role (the dynamodb module's access_policy_arn)."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "KMS key of the log group and of the secrets."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "log_retention_days" {
  description = "Days to keep the tasks' logs."
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
