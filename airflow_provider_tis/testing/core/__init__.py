"""Service-neutral simulator parts: the HTTP server base, faults and the request log, the object
store, the multipart reader and the Airflow sandbox."""
