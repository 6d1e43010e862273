"""Personal data in payloads: fields encrypted per subject, erased by destroying the key."""
