"""aisinfra: the AIStore deployment worksheet as a Pulumi program."""
