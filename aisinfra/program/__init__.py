"""The Pulumi program: config from the running stack, the deployed-state guard, and one
component per layer of an AIStore cluster. Imports the worksheet and chart layers."""
