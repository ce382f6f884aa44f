from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard import urls as dashboard_urls
from realtime import account_views, notification_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("api/publish", views.api_publish, name="api-publish"),
    path("metrics", views.metrics, name="metrics"),
    path("api/notify", notification_views.api_notify, name="api-notify"),
    path(
        "api/notifications",
        notification_views.notification_list,
        name="api-notifications",
    ),
    path(
        "api/notifications/read",
        notification_views.notification_read,
        name="api-notifications-read",
    ),
    path("notifications/", notification_views.notification_page, name="notifications"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", account_views.signup, name="signup"),
    path("chat/", include("chat.urls")),
    path("api/", include(dashboard_urls.api_urlpatterns)),
    path("dashboard/", include(dashboard_urls.page_urlpatterns)),
    path("admin/", admin.site.urls),
]
