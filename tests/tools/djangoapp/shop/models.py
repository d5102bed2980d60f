"""A model with the field kinds applications use most."""

from django.db import models


class Customer(models.Model):
    name = models.CharField(max_length=100, unique=True)
    active = models.BooleanField(default=True)
    joined = models.DateTimeField()


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    total = models.DecimalField(max_digits=10, decimal_places=2)
    details = models.JSONField(default=dict)
    placed = models.DateTimeField(auto_now_add=True)
    shipped = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["placed"])]
