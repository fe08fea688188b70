"""Reading and checking what agencies and the DfE send: file parsing and schemas."""
