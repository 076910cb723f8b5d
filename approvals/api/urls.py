from django.urls import path

from approvals.api import views

urlpatterns = [
    path("approvals", views.RequestList.as_view(), name="approvals"),
    path("approvals/policies", views.PolicyList.as_view(), name="approval-policies"),
    path("approvals/<str:request_id>", views.RequestDetail.as_view(), name="approval"),
    path("approvals/<str:request_id>/approve", views.RequestApprove.as_view(), name="approval-approve"),
    path("approvals/<str:request_id>/reject", views.RequestReject.as_view(), name="approval-reject"),
]
