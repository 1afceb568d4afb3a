"""Running a flow's units elsewhere: Dask task runners, and the Prefect global limit their workers share."""
