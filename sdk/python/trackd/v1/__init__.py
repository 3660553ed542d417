"""Generated wire types of the trackd.v1 protocol. Do not edit: run proto/generate.py."""
