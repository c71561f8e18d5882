"""chunking/casebook"""
