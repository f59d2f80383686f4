module tool

go 1.22
