from django.urls import path

from keys.api import views

urlpatterns = [
    path("customer-nodes", views.CustomerNodeList.as_view(), name="customer-nodes"),
    path("keys", views.KeyList.as_view(), name="keys"),
    path("keys/<str:key_id>", views.KeyDetail.as_view(), name="key"),
    path("keys/<str:key_id>/rotate", views.KeyRotate.as_view(), name="key-rotate"),
    path("keys/<str:key_id>/disable", views.KeyDisable.as_view(), name="key-disable"),
    path("keys/<str:key_id>/enable", views.KeyEnable.as_view(), name="key-enable"),
    path(
        "keys/<str:key_id>/schedule-deletion",
        views.KeyScheduleDeletion.as_view(),
        name="key-schedule-deletion",
    ),
    path("keys/<str:key_id>/cancel-deletion", views.KeyCancelDeletion.as_view(), name="key-cancel-deletion"),
    path("keys/<str:key_id>/encrypt", views.KeyEncrypt.as_view(), name="key-encrypt"),
    path("keys/<str:key_id>/decrypt", views.KeyDecrypt.as_view(), name="key-decrypt"),
    path(
        "keys/<str:key_id>/generate-data-key",
        views.KeyGenerateDataKey.as_view(),
        name="key-generate-data-key",
    ),
    path("keys/<str:key_id>/sign", views.KeySign.as_view(), name="key-sign"),
    path("keys/<str:key_id>/verify", views.KeyVerify.as_view(), name="key-verify"),
    path("keys/<str:key_id>/wrap", views.KeyWrap.as_view(), name="key-wrap"),
    path("keys/<str:key_id>/unwrap", views.KeyUnwrap.as_view(), name="key-unwrap"),
    path("keys/<str:key_id>/public-key", views.KeyPublicKey.as_view(), name="key-public-key"),
]
