"""What the benchmark commands share."""


class QueryCounter:
    """Counts the statements a block sends: `with connection.execute_wrapper(counter): ...`."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)
