variable "region" {
  description = "AWS region of the deployment."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "name" {
  description = "Name of the deployment (also its FLIPBOOK_BUS_PREFIX); at most 28 characters."
  type        = string
  default     = "flipbook"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,27}$", var.name))
    error_message = "name must start with a letter and hold at most 28 letters, digits or dashes."
  }
}

variable "image" {
  description = "The Flipbook image, by fixed tag or digest: ghcr.io/OWNER/flipbook:VERSION (or a copy in ECR)."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate for the HTTPS listener, covering the allowed_hosts."
  type        = string
}

variable "allowed_hosts" {
  description = "Host names clients use (FLIPBOOK_ALLOWED_HOSTS), e.g. [\"flipbook.example.com\"]."
  type        = list(string)
}

variable "access_logs_bucket" {
  description = "Existing S3 bucket for the load balancer's access logs."
  type        = string
}

variable "vpc_cidr_block" {
  description = "The VPC's IPv4 range."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Availability zones (2 to 6)."
  type        = number
  default     = 3
}

variable "single_nat_gateway" {
  description = "One NAT gateway instead of one per zone (cheaper, less available)."
  type        = bool
  default     = false
}

variable "dynamodb_table_prefix" {
  description = "FLIPBOOK_DYNAMODB_TABLE_PREFIX; the table is <prefix>events."
  type        = string
  default     = "flipbook_"
}

variable "db_instance_class" {
  description = "RDS instance class of the metadata database."
  type        = string
  default     = "db.t4g.medium"
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.small"
}

variable "min_servers" {
  description = "Fewest Flipbook server tasks."
  type        = number
  default     = 2
}

variable "max_servers" {
  description = "Most Flipbook server tasks."
  type        = number
  default     = 10
}

variable "push_workers" {
  description = "Push worker tasks."
  type        = number
  default     = 1
}
