"""Machinery the use cases share (the conversation writer, the snapshot codec), below them all: a use
case never imports another."""
