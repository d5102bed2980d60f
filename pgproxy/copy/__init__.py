"""COPY FROM STDIN and COPY TO STDOUT: the data formats and the stage that runs them."""
