from celery import shared_task

from devices import services


@shared_task
def mark_lost_contact() -> int:
    return services.outages_mark_lost_contact()
