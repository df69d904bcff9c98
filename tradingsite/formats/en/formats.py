"""How dates and times read wherever Django formats them without being told (the admin, its history pages, a date
in a template without a format): as the ledger's own pages write them, 25 Nov 2026 14:03:05 (settings.py,
FORMAT_MODULE_PATH). Date boxes take YYYY-MM-DD first, what a browser's date picker sends (the admin's correction
form), and 25 Nov 2026 as the pages write it."""

DATE_FORMAT = SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y H:i:s"
SHORT_DATETIME_FORMAT = "j M Y H:i"
TIME_FORMAT = "H:i:s"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j M"
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d %b %Y"]
TIME_INPUT_FORMATS = ["%H:%M:%S", "%H:%M:%S.%f", "%H:%M"]
DATETIME_INPUT_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
FIRST_DAY_OF_WEEK = 1  # Monday, as the statistics' calendar
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
