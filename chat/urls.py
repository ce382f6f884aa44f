from django.urls import path

from chat import views

urlpatterns = [
    path("", views.room_list, name="chat-rooms"),
    path("<str:slug>/", views.room_detail, name="chat-room"),
    path("<str:slug>/members", views.room_members, name="chat-members"),
    path("<str:slug>/messages", views.message_history, name="chat-messages"),
]
