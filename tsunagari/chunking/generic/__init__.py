"""chunking/generic"""
