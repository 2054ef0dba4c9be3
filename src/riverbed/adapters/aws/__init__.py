"""AWS envelopes: API Gateway, SNS, SQS, EventBridge and Lambda shapes. Needs the ``aws`` extra."""
