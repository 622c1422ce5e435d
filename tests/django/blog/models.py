"""Models of the N+1 test blog: relations with related_name, as real projects declare them."""
from django.db import models


class Profile(models.Model):
    website = models.CharField(max_length=200)


class Author(models.Model):
    name = models.CharField(max_length=100)
    profile = models.OneToOneField(Profile, on_delete=models.CASCADE, related_name="author")


class Category(models.Model):
    name = models.CharField(max_length=100)


class Tag(models.Model):
    name = models.CharField(max_length=50)


class Post(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="posts")
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="posts")
    tags = models.ManyToManyField(Tag, related_name="posts")  # through table blog_post_tags
    published = models.BooleanField(default=False)
    views = models.IntegerField(default=0)

    def comment_count(self):
        return self.comments.count()  # loop: comment_counts


class Comment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="comments")
    body = models.TextField()
    approved = models.BooleanField(default=True)
