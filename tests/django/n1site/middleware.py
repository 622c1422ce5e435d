"""The test site's middleware: one unit of work per request, as a real deployment would mark it.

Every request gets its own database session named after its handler (application_name), a
`dbopt-unit:` marker in the Django log, and a request id on every statement of the JSON Lines
log, which an execute_wrapper (n1site/querylog.py) writes with the stack of each statement.
"""
import copy
import logging

from django.db import connection

from n1site.querylog import current

marker = logging.getLogger("dbopt")
query_log = None  # set by the runner


class UnitOfWorkMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = request.path.strip("/")
        current.name = name
        connection.close()  # a new session per request, named after the handler
        if not getattr(connection, "own_settings", False):
            connection.settings_dict = copy.deepcopy(connection.settings_dict)  # this thread's connection only
            connection.own_settings = True
        connection.settings_dict["OPTIONS"]["application_name"] = name
        marker.info("dbopt-unit: %s", name)
        with connection.execute_wrapper(query_log):
            response = self.get_response(request)
        connection.close()
        current.name = "setup"
        return response
