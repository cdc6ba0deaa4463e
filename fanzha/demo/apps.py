from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "fanzha.demo"
    label = "demo"
