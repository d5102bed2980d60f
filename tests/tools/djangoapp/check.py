"""Run by tests/integration/test_tools_django.py after `migrate`: the ORM's common writes and reads.

Prints one JSON object of named results; the test judges them.
"""

import datetime as dt
import json
import os
import sys
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import IntegrityError, transaction  # noqa: E402
from django.db.models import Count, Sum  # noqa: E402
from shop.models import Customer, Order  # noqa: E402

out: dict[str, object] = {}
now = dt.datetime(2025, 3, 1, 12, 30, tzinfo=dt.UTC)
customers = Customer.objects.bulk_create(
    [Customer(name=f"c{i}", active=i % 2 == 0, joined=now) for i in range(200)]
)
out["bulk_ids"] = all(c.pk is not None for c in customers)
orders = Order.objects.bulk_create(
    [
        Order(customer=customers[i % 200], total=Decimal("9.99"), details={"n": i, "tags": ["a"]})
        for i in range(1000)
    ]
)
out["orders"] = Order.objects.count()
with transaction.atomic():
    c = Customer.objects.create(name="atomic", joined=now)
    Order.objects.create(customer=c, total=Decimal("1.50"), details={"k": "v"})
try:
    with transaction.atomic():
        Customer.objects.create(name="rolled-back", joined=now)
        Customer.objects.create(name="c1", joined=now)  # unique violation
except IntegrityError:
    out["integrity_error"] = True
out["rolled_back_absent"] = not Customer.objects.filter(name="rolled-back").exists()
out["atomic_kept"] = Customer.objects.filter(name="atomic").exists()
first = Order.objects.select_related("customer").order_by("id").first()
out["json_roundtrip"] = first.details
out["fk_name"] = first.customer.name
out["bool_filter"] = Customer.objects.filter(active=True).count()
out["joined_aware"] = Customer.objects.get(name="c0").joined.isoformat()
out["aggregate"] = str(Order.objects.aggregate(s=Sum("total"))["s"])
out["annotate"] = (
    Customer.objects.annotate(n=Count("orders")).filter(name="c0").values_list("n", flat=True)[0]
)
Order.objects.filter(customer__name="c0").update(shipped=True)
out["updated"] = Order.objects.filter(shipped=True).count()
User.objects.create_user("ada", password="x")
out["user"] = User.objects.get(username="ada").check_password("x")
print(json.dumps(out))
