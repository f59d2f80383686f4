"""Instruction transforms: RUN merges, cd -> WORKDIR, exec form, ADD -> COPY,
MAINTAINER, and the findings without fixes."""
