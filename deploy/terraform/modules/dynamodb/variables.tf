variable "name" {
  description = "Name of the deployment; prefixes the IAM policy's name."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,30}$", var.name))
    error_message = "name must start with a letter and hold at most 31 letters, digits or dashes."
  }
}

variable "table_prefix" {
  description = "FLIPBOOK_DYNAMODB_TABLE_PREFIX: the table is named <table_prefix>events. Give each deployment in one account and region its own."
  type        = string
  default     = "flipbook_"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{0,249}$", var.table_prefix))
    error_message = "table_prefix may hold only letters, digits, '_', '.' and '-', at most 249 characters."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the table (and its backups)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...)."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the table (turn off only to tear a test deployment down)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
