# Dates as India writes them, the same in English, Tamil and Hindi: day, month, year, and
# the 24-hour clock (the month's name in the page's language). Django's own formats for
# these languages differ from each other and leave the admin's date-times American.
DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
TIME_FORMAT = "H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
FIRST_DAY_OF_WEEK = 0  # Sunday, as Indian calendars print it
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = (3, 2, 0)  # 1,00,000: lakh and crore, where the admin groups numbers
