"""Link quality: toxicity with reasons, anchor classes and disavow files (issue #3, DESIGN §4)."""
