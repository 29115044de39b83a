# Finance's burn reports (CSV, JSON, HTML): versioned, SSE-KMS, private, TLS only.

variable "name_prefix" {
  type = string
}

variable "account_id" {
  type = string
}

variable "kms_key_arn" {
  type = string
}

variable "access_log_bucket" {
  description = "bucket for S3 server access logs; null: the reports bucket logs to a log bucket made here"
  type        = string
  default     = null
}

variable "noncurrent_version_days" {
  type    = number
  default = 365
}

variable "archive_after_days" {
  type    = number
  default = 90
}

locals {
  bucket = "${var.name_prefix}-reports-${var.account_id}"
}

resource "aws_s3_bucket" "reports" {
  #checkov:skip=CKV_AWS_144:reports are rebuilt from PostgreSQL and the chain at any time; a second region's copy adds cost, not recoverability
  #checkov:skip=CKV2_AWS_62:nothing consumes report-created events; readers list the prefix through the API
  bucket = local.bucket
}

resource "aws_s3_bucket_versioning" "reports" {
  bucket = aws_s3_bucket.reports.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "reports" {
  bucket = aws_s3_bucket.reports.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "reports" {
  bucket                  = aws_s3_bucket.reports.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "reports" {
  bucket = aws_s3_bucket.reports.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

data "aws_iam_policy_document" "tls_only" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.reports.arn,
      "${aws_s3_bucket.reports.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "reports" {
  bucket     = aws_s3_bucket.reports.id
  policy     = data.aws_iam_policy_document.tls_only.json
  depends_on = [aws_s3_bucket_public_access_block.reports]
}

resource "aws_s3_bucket_lifecycle_configuration" "reports" {
  bucket = aws_s3_bucket.reports.id

  rule {
    id     = "archive-and-expire-old-versions"
    status = "Enabled"
    filter {
      prefix = ""
    }
    transition {
      days          = var.archive_after_days
      storage_class = "STANDARD_IA"
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

# ---- access logs ---------------------------------------------------------------------------

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_144:access logs of a rebuildable bucket; no cross-region copy needed
  #checkov:skip=CKV2_AWS_62:nothing consumes access-log events
  #checkov:skip=CKV_AWS_18:this is the access-log bucket itself; logging it would loop
  #checkov:skip=CKV_AWS_145:S3 server access log delivery requires SSE-S3 (AES256) on the target bucket, SSE-KMS is not supported there
  count  = var.access_log_bucket == null ? 1 : 0
  bucket = "${local.bucket}-logs"
}

resource "aws_s3_bucket_versioning" "logs" {
  count  = length(aws_s3_bucket.logs)
  bucket = aws_s3_bucket.logs[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

# S3 server access logging delivers only to SSE-S3 buckets, not SSE-KMS.
resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  count  = length(aws_s3_bucket.logs)
  bucket = aws_s3_bucket.logs[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  count                   = length(aws_s3_bucket.logs)
  bucket                  = aws_s3_bucket.logs[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  count  = length(aws_s3_bucket.logs)
  bucket = aws_s3_bucket.logs[0].id
  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {
      prefix = ""
    }
    expiration {
      days = 400
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_s3_bucket_logging" "reports" {
  bucket        = aws_s3_bucket.reports.id
  target_bucket = coalesce(var.access_log_bucket, try(aws_s3_bucket.logs[0].id, null))
  target_prefix = "reports/"
}

output "bucket" {
  value = aws_s3_bucket.reports.id
}

output "bucket_arn" {
  value = aws_s3_bucket.reports.arn
}
