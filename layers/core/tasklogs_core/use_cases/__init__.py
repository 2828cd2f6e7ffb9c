"""One module per function, named like it: each takes what its handler received and does the whole
job, from the domain's rules and the adapters, logging and counting its outcome."""
