from django.urls import include, path

from . import views

urlpatterns = [
    path("bench/hello/", views.hello),
    path("bench/memory/<str:part>/", views.memory_part),
    path("bench/memory/<str:name>/<str:key>/", views.memory_page),
    path("", include("tradingsite.urls")),
]
