terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 7.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.6"
    }
  }

  # Keep state remote and encrypted: it holds the generated passwords. For example:
  # backend "s3" {
  #   bucket       = "my-terraform-state"
  #   key          = "flipbook/production.tfstate"
  #   region       = "eu-west-1"
  #   encrypt      = true
  #   use_lockfile = true
  # }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Application = "flipbook"
      Deployment  = var.name
    }
  }
}
